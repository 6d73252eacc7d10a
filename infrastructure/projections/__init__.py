"""Projections: the app's tables (user_call_scores, call_queue, conversions) built from
events exactly once, followed continuously, and rebuilt by replay."""
