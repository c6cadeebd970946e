"""A hall's recorded history (历史排队记录) as a CSV of tickets: export it from the database, read and
validate it, and replay it in virtual time to measure how well expected waits were predicted
(docs/history.md).
"""
