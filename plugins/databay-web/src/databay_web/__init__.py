"""databay-web: a dashboard, a JSON API, Prometheus metrics and health checks for databay.

``databay run PIPELINE --web HOST:PORT`` (or a ``[web]`` table in the pipeline) serves them
beside the running pipeline, on its planner's event loop; ``databay web PIPELINE`` serves
the read-only views of a pipeline that is not running. See the README.
"""

__version__ = "1.0.0a1"
