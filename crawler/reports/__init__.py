"""What analysts read: the daily digest, the periodic report, and the workbooks both write."""
