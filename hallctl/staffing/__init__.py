"""Staffing advice (人员配置建议): how many windows each hour needs, by Erlang C, checked by the simulator."""
