"""A gateway for the self-restart test of ``manage.py smsd``: the simulator, except that the first time a process
opens it, it raises an error nobody expected (as a gateway library with a bug would). The daemon does not survive
that on its own; the smsd command must restart it."""

from abah.sms.backends.simulator import SimulatorBackend


class FailsOnceBackend(SimulatorBackend):
    opened = 0  # per process: a restarted daemon in the same process opens it a second time

    def open(self):
        type(self).opened += 1
        if type(self).opened == 1:
            raise RuntimeError("the gateway library broke (test: first open in this process)")
        return super().open()
