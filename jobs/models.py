from django.db import models


class JobRun(models.Model):
    """One period of one scheduled job, claimed by one instance (jobs/services.py).

    The unique (job, period) pair is the rule itself: the database refuses a second claim
    of a period, however many schedulers ask at once.
    """

    job = models.CharField(max_length=40)
    period = models.DateTimeField(help_text="Start of the period this run covers.")
    claimed_by = models.CharField(max_length=100, help_text="The instance that claimed it.")
    claimed_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["-period", "job"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="job_run_once_per_period")
        ]

    def __str__(self):
        return f"{self.job} for {self.period:%Y-%m-%d %H:%M:%S}"
