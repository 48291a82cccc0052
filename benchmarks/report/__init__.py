"""What a run shows and leaves behind: tables on screen, and under the output
folder results.json (every sample), report.md (tables and targets) and PNG charts."""
