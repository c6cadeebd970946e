"""Journal review and risk control (数据库日志审查): the journal's hash chain, audit classes, anomaly
screening, the audit report and its API."""
