"""The databay plugin module of databay-web: the ``web`` service and the ``databay web`` command.

Nothing heavy is imported here: the service's module is light, and the command imports
what it needs when it runs.
"""

from databay import hookimpl


@hookimpl
def databay_register_services(register):
    register("web", "databay_web.service:WebService")


@hookimpl
def databay_register_commands(app):
    from databay_web.command import web

    app.command("web")(web)
