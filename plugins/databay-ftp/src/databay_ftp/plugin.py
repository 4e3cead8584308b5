"""The databay plugin module of databay-ftp: registers the ``ftp`` outlet and inlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports the components
(nor paramiko).
"""

from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("ftp", "databay_ftp.outlet:FtpOutlet")


@hookimpl
def databay_register_inlets(register):
    register("ftp", "databay_ftp.inlet:FtpInlet")
