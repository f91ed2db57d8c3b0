"""Starts moto's server with the fixes cdc-dms's test suite needs to talk to it like to AWS DMS.

Usage: python launcher.py -H 127.0.0.1 -p PORT   (the arguments of `moto_server`)

Stock moto 5.2.5 differs from AWS DMS in ways that break the Rust SDK or hide the bugs the suite
is there to catch. This launcher patches moto in-process, then runs `moto.server.main()`:

1. Timestamps. moto writes DMS dates as naive ISO strings; the awsJson1_1 protocol uses epoch
   seconds and the Rust SDK rejects every response holding a task. The patched `to_dict`s write
   epoch floats (a naive datetime is UTC, as moto makes them with utcnow()).
2. `creating` -> `ready`. A created task stays `creating` forever in moto; AWS moves it to `ready`
   after about a minute. Here the first describe that sees it moves it to `ready`, so a client must
   poll (describe) before it can start the task.
3. Start only from `ready`, `stopped` or `failed`, as AWS does (moto starts from any state); and
   `resume-processing` only for a task that ran before. That makes "start without waiting for
   ready" fail here as it fails on AWS.
4. Not found. AWS answers `ResourceNotFoundFault` when describe filters match no task; moto returns
   an empty list.
5. Kinesis resharding. On AWS a split closes the parent shard, which keeps its records; new
   records go to the open children; `GetRecords` on a closed shard read to its end answers without
   `NextShardIterator`, which is how a consumer knows it may go on with the children. moto moves the
   parent's records into the children, keeps routing new records to the closed parent, and always
   returns a next iterator. All three are fixed here.
"""

import hashlib
import sys
from datetime import datetime, timezone

from moto.dms import models as dms_models
from moto.dms import responses as dms_responses
from moto.dms.exceptions import InvalidResourceStateFault, ResourceNotFoundFault
from moto.kinesis import models as kinesis_models
from moto.kinesis.utils import decompose_shard_iterator


def _epoch(value):
    """An ISO string or datetime from moto as epoch seconds (naive means UTC); None stays None."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


_TASK_DATE_KEYS = ("ReplicationTaskCreationDate", "ReplicationTaskStartDate")
_STATS_DATE_KEYS = ("FreshStartDate", "StartDate", "StopDate", "FullLoadStartDate", "FullLoadFinishDate")
_INSTANCE_DATE_KEYS = ("InstanceCreateTime", "FreeUntil")


def _fix_dates(d, keys):
    for key in keys:
        if key in d:
            d[key] = _epoch(d[key])
    return d


_task_to_dict = dms_models.FakeReplicationTask.to_dict


def task_to_dict(self):
    d = _fix_dates(_task_to_dict(self), _TASK_DATE_KEYS)
    if isinstance(d.get("ReplicationTaskStats"), dict):
        _fix_dates(d["ReplicationTaskStats"], _STATS_DATE_KEYS)
    return d


_instance_to_dict = dms_models.FakeReplicationInstance.to_dict


def instance_to_dict(self):
    return _fix_dates(_instance_to_dict(self), _INSTANCE_DATE_KEYS)


_describe_tasks = dms_models.DatabaseMigrationServiceBackend.describe_replication_tasks


def describe_replication_tasks(self, filters, max_records):
    tasks = list(_describe_tasks(self, filters, max_records))
    if filters and not tasks:
        raise ResourceNotFoundFault("No replication tasks found matching the filters.")
    for task in tasks:
        if task.status == "creating":
            task.ready()
    return tasks


_STARTABLE = ("ready", "stopped", "failed")


def start_replication_task_response(self):
    """Replaces DatabaseMigrationServiceResponse.start_replication_task to check the start type."""
    arn = self._get_param("ReplicationTaskArn")
    start_type = self._get_param("StartReplicationTaskType")
    task = self.dms_backend.replication_tasks.get(arn)
    if task is None:
        raise ResourceNotFoundFault("Replication task could not be found.")
    if task.status not in _STARTABLE:
        raise InvalidResourceStateFault(
            f"Replication task is in state {task.status}; it can be started from "
            + ", ".join(_STARTABLE)
        )
    if start_type == "resume-processing" and task.start_date is None:
        raise InvalidResourceStateFault(
            "resume-processing needs a task that ran before; use start-replication"
        )
    return _original_start_response(self)


_original_start_response = dms_responses.DatabaseMigrationServiceResponse.start_replication_task

_kinesis_get_records = kinesis_models.KinesisBackend.get_records


def kinesis_get_records(self, stream_arn, shard_iterator, limit):
    next_iterator, records, millis_behind = _kinesis_get_records(
        self, stream_arn, shard_iterator, limit
    )
    stream_name, shard_id, last_sequence = decompose_shard_iterator(next_iterator)
    stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
    shard = stream.get_shard(shard_id)
    if not shard.is_open and int(last_sequence) >= shard.get_max_sequence_number():
        next_iterator = None
    return next_iterator, records, millis_behind


_split_shard = kinesis_models.Stream.split_shard


def split_shard(self, shard_to_split, new_starting_hash_key):
    shard = self.shards.get(shard_to_split)
    if shard is None:
        return _split_shard(self, shard_to_split, new_starting_hash_key)
    kept = shard.records
    shard.records = type(kept)()  # so moto moves nothing to the children
    try:
        _split_shard(self, shard_to_split, new_starting_hash_key)
    finally:
        shard.records = kept


_get_shard_for_key = kinesis_models.Stream.get_shard_for_key


def get_shard_for_key(self, partition_key, explicit_hash_key):
    shard = _get_shard_for_key(self, partition_key, explicit_hash_key)  # validates the keys
    if shard is None or shard.is_open:
        return shard
    if explicit_hash_key:
        key = int(explicit_hash_key)
    else:
        key = int(hashlib.md5(partition_key.encode("utf-8")).hexdigest(), 16)
    for candidate in self.shards.values():
        if candidate.is_open and candidate.starting_hash <= key <= candidate.ending_hash:
            return candidate
    return None


dms_models.FakeReplicationTask.to_dict = task_to_dict
dms_models.FakeReplicationInstance.to_dict = instance_to_dict
dms_models.DatabaseMigrationServiceBackend.describe_replication_tasks = describe_replication_tasks
dms_responses.DatabaseMigrationServiceResponse.start_replication_task = start_replication_task_response
kinesis_models.KinesisBackend.get_records = kinesis_get_records
kinesis_models.Stream.split_shard = split_shard
kinesis_models.Stream.get_shard_for_key = get_shard_for_key


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
