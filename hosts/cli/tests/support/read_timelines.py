"""Reads an exported edit back with the opentimelineio library and its
CMX 3600 and FCP X XML adapters (what editors' pipelines use), and prints
what it found, clip by clip, as JSON for hosts/cli/tests/episode.rs to check.

    python read_timelines.py EDIT_DIR STEM
"""

import json
import sys

import opentimelineio as otio


def clips(timeline):
    if isinstance(timeline, otio.schema.SerializableCollection):
        timeline = timeline[0]
    out = []
    for clip in timeline.find_clips():
        ref = clip.media_reference
        out.append({
            "name": clip.name,
            "start": clip.source_range.start_time.value,
            "duration": clip.source_range.duration.value,
            "rate": clip.source_range.start_time.rate,
            "url": getattr(ref, "target_url", None),
            "metadata": json.loads(otio.core.serialize_json_to_string(clip.metadata)),
            "reference_metadata": json.loads(otio.core.serialize_json_to_string(ref.metadata)),
            "markers": [m.comment or m.name for m in clip.markers],
        })
    return {"name": timeline.name, "clips": clips_range(timeline, out)}


def clips_range(timeline, out):
    # Where each clip sits in the edit, from the track's own arithmetic.
    for item, found in zip(timeline.find_clips(), out):
        found["record_start"] = item.range_in_parent().start_time.value
    return out


def main():
    folder, stem = sys.argv[1], sys.argv[2]
    read = {
        "otio": otio.adapters.read_from_file(f"{folder}/{stem}.otio"),
        "edl": otio.adapters.read_from_file(f"{folder}/{stem}.edl", adapter_name="cmx_3600", rate=float(sys.argv[3])),
        "fcpxml": otio.adapters.read_from_file(f"{folder}/{stem}.fcpxml", adapter_name="fcpx_xml"),
    }
    print(json.dumps({kind: clips(t) for kind, t in read.items()}))


main()
