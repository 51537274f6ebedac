"""The retention report: KPIs per period, acquisition cohorts, summaries of the latest
scores, the report's figures and its self-contained HTML page. All pure: frames and
values in, frames, figures and text out; `stages/report.py` does the reading and writing."""
