# The manual's "Simple usage" example (databay 0.3 docs, 2.4.1).
# It needs databay-http, databay-mongo and databay-aps (pip install ./plugins/databay-http
# ./plugins/databay-mongo ./plugins/databay-aps) and a MongoDB server.
#
# The manual pulls https://jsonplaceholder.typicode.com/todos/1 and writes to MongoDB on
# localhost. EXAMPLE_URL, EXAMPLE_MONGO_HOST and EXAMPLE_MONGO_PORT point it elsewhere
# (the tests use a local HTTP server and a local MongoDB wire-protocol server); unset, the
# code below is the manual's.
import datetime
import logging
import os

from databay import Link
from databay.inlets import HttpInlet
from databay.outlets import MongoOutlet
from databay.planners import ApsPlanner

URL = os.environ.get('EXAMPLE_URL', 'https://jsonplaceholder.typicode.com/todos/1')
MONGO_HOST = os.environ.get('EXAMPLE_MONGO_HOST')
MONGO_PORT = int(os.environ['EXAMPLE_MONGO_PORT']) if 'EXAMPLE_MONGO_PORT' in os.environ else None

logging.getLogger('databay').setLevel(logging.DEBUG)

# Create an inlet, the data producer.
http_inlet = HttpInlet(URL)

# Create an outlet, the data consumer.
mongo_outlet = MongoOutlet(database_name='databay',
                           collection='test_collection',
                           host=MONGO_HOST, port=MONGO_PORT)

# Add the two to a link that will handle data transfer between them.
link = Link(http_inlet, mongo_outlet,
            datetime.timedelta(seconds=5), tags='http_to_mongo')

# Create a planner, add the link and start scheduling.
planner = ApsPlanner(link)
planner.start()
