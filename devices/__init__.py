"""Hall devices (窗口屏, 综合屏, 语音叫号, 评价器, 呼叫器, 取号机): drivers, codecs and simulators."""
