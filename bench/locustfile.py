"""Locust comparison for bench/generator.py: FastHttpUser GETs / with no wait between requests."""

from locust import FastHttpUser, constant, task


class Root(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
