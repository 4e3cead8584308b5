# The manual's "Groupers" example (databay 0.3 docs, 2.2.2) as a runnable script.
# The manual's grouper_by_name sketch forgets to return its result; this one groups
# each batch's records by payload['name'] and returns the new list of batches.
from datetime import timedelta
from typing import List

from databay import Inlet, Link, Outlet, Record
from databay.planners import SchedulePlanner


class NamesInlet(Inlet):

    def pull(self, update):
        return [
            {'name': 'a', 'value': 1},
            {'name': 'a', 'value': 2},
            {'name': 'b', 'value': 3},
            {'name': 'b', 'value': 4},
        ]


def grouper_by_name(batches: List[List[Record]]):
    result = []
    for batch in batches:
        by_name = {}
        for record in batch:
            by_name.setdefault(record.payload['name'], []).append(record)
        result.extend(by_name.values())
    return result


class BatchPrintOutlet(Outlet):

    def push(self, records: List[Record], update):
        print(update, [record.payload for record in records])


link = Link(NamesInlet(), BatchPrintOutlet(),
            interval=timedelta(seconds=1), tags='groupers',
            groupers=grouper_by_name)

# push is called once per batch:
# groupers.0 [{'name': 'a', 'value': 1}, {'name': 'a', 'value': 2}]
# groupers.0 [{'name': 'b', 'value': 3}, {'name': 'b', 'value': 4}]
planner = SchedulePlanner(link)
planner.start()
