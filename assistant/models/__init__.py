"""Assistant models, one module per concern: `calls` (every provider call, its tokens and
cost), `drafts` (generated lesson notes and quizzes awaiting approval), `tutor`
(conversations, quotas, usage)."""
