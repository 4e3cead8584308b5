"""The built-in components of core."""

from databay.hookspecs import hookimpl


@hookimpl
def databay_register_inlets(register):
    register("null", "databay.inlets.null_inlet:NullInlet")
    register("random_int", "databay.inlets.random_int_inlet:RandomIntInlet")
    register("file", "databay.inlets.file_inlet:FileInlet")


@hookimpl
def databay_register_outlets(register):
    register("null", "databay.outlets.null_outlet:NullOutlet")
    register("print", "databay.outlets.print_outlet:PrintOutlet")
    register("file", "databay.outlets.file_outlet:FileOutlet")


@hookimpl
def databay_register_planners(register):
    register("schedule", "databay.planners.schedule_planner:SchedulePlanner")


@hookimpl
def databay_register_processors(register):
    register("buffer", "databay.support.buffers:Buffer")


@hookimpl
def databay_register_stages(register):
    register("sqlite", "databay.stage.store:SqliteStage")
