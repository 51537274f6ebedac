"""The local Spark session keeps to this machine: loopback only, no web UI."""

from __future__ import annotations

import ipaddress

import psutil
import pytest

pytestmark = pytest.mark.spark


def test_the_local_session_listens_on_loopback_only_and_has_no_ui(spark):
    assert spark.sparkContext.uiWebUrl is None
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    spark.range(10).count()  # a job: the block manager and workers are up
    jvms = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
    assert jvms
    listening = [c.laddr.ip for p in jvms for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening
    assert all(ipaddress.ip_address(ip.removeprefix("::ffff:")).is_loopback for ip in listening), listening
