"""Deferred jobs: callables that run after the response is posted and before the next `/next`.

- `job`: what a job is and what it sees of itself (`current_job()`, deadline, cancellation);
- `hooks`: functions called on a job's error and after every invocation's jobs;
- `workers`: the process's threads, where a thread lost to an overrunning job is replaced;
- `batch`: the jobs of one invocation, their deadlines and outcomes;
- `call`: calling a job's function, isolating its errors; `aio`: async jobs;
- `phase`: the post-response phase the loop calls once per invocation.
"""

from lambda_runtime.jobs.hooks import AFTER_JOBS_HOOKS, ERROR_HOOKS, after_jobs, on_job_error
from lambda_runtime.jobs.job import CURRENT_JOB, Job, current_job

__all__ = ["AFTER_JOBS_HOOKS", "CURRENT_JOB", "ERROR_HOOKS", "Job", "after_jobs", "current_job", "on_job_error"]
