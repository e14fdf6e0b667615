import factory
from factory.django import DjangoModelFactory

from fleet.models import Cart, Device
from fleet.services.enrollment import enroll_secret_rotate
from tests.factories import SchoolFactory


class CartFactory(DjangoModelFactory):
    class Meta:
        model = Cart

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Chariot {n}")
    slot_count = 16


class DeviceFactory(DjangoModelFactory):
    class Meta:
        model = Device

    identity = factory.Sequence(lambda n: f"SER{n:06d}")
    serial = factory.LazyAttribute(lambda o: o.identity)
    school = factory.SubFactory(SchoolFactory)


def school_with_secret(secret: str = "school-secret-0001", **kwargs):
    school = SchoolFactory(has_mobile_classroom=True, **kwargs)
    enroll_secret_rotate(school=school, secret=secret)
    return school


def host_details(
    serial="PF2ABC12", uuid="4C4C4544-0042-3510-8052-B4C04F4A3732", hostname="ecole-pc-07"
):
    """Shaped as osqueryd's enroll `host_details` (first row of each table, all strings)."""
    return {
        "os_version": {
            "_id": "",
            "arch": "x86_64",
            "build": "",
            "codename": "jammy",
            "major": "22",
            "minor": "4",
            "name": "Ubuntu",
            "patch": "0",
            "platform": "ubuntu",
            "platform_like": "debian",
            "version": "22.04.4 LTS (Jammy Jellyfish)",
        },
        "osquery_info": {
            "build_distro": "centos7",
            "build_platform": "linux",
            "config_hash": "",
            "config_valid": "0",
            "extensions": "active",
            "instance_id": "b5e6c6f2-1111-4c7b-9a21-2f1e0c1b9f00",
            "pid": "4242",
            "platform_mask": "9",
            "start_time": "1795420000",
            "uuid": uuid,
            "version": "5.12.1",
            "watcher": "4240",
        },
        "system_info": {
            "board_model": "",
            "board_serial": "",
            "board_vendor": "LENOVO",
            "board_version": "",
            "computer_name": hostname,
            "cpu_brand": "Intel(R) Core(TM) i5-1135G7 @ 2.40GHz",
            "cpu_logical_cores": "8",
            "cpu_physical_cores": "4",
            "cpu_subtype": "140",
            "cpu_type": "x86_64",
            "hardware_model": "20XW",
            "hardware_serial": serial,
            "hardware_vendor": "LENOVO",
            "hardware_version": "ThinkPad E14",
            "hostname": hostname,
            "local_hostname": hostname,
            "physical_memory": "8589934592",
            "uuid": uuid,
        },
        "platform_info": {
            "address": "0xe0000",
            "date": "01/09/2024",
            "extra": "",
            "revision": "1.80",
            "size": "16777216",
            "vendor": "LENOVO",
            "version": "N32ET80W (1.80 )",
            "volume_size": "0",
        },
    }


def enroll_body(secret="school-secret-0001", serial="PF2ABC12", host_identifier=None, **kwargs):
    uuid = kwargs.pop("uuid", f"uuid-{serial}")
    return {
        "enroll_secret": secret,
        "host_identifier": host_identifier or uuid,
        "platform_type": "9",
        "host_details": host_details(serial=serial, uuid=uuid, **kwargs),
    }


def result_line(
    name, *, action="snapshot", rows=None, columns=None, unix_time=1795421521, serial="PF2ABC12"
):
    line = {
        "name": name,
        "hostIdentifier": "uuid-host",
        "calendarTime": "Mon Nov 23 08:12:01 2026 UTC",
        "unixTime": unix_time,
        "epoch": 0,
        "counter": 0,
        "numerics": False,
        "decorations": {"serial_number": serial},
    }
    if action == "snapshot":
        line["action"] = "snapshot"
        line["snapshot"] = rows or []
    elif action == "diff":
        line["diffResults"] = rows
    else:
        line["action"] = action
        line["columns"] = columns
    return line
