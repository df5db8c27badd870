#!/usr/bin/python3
"""Scrapes a Prometheus endpoint and parses it with prometheus_client's text
parser (python3-prometheus-client): what a Prometheus server would accept.

    scrape_metrics.py URL

Prints one line per sample, "name{label="value",...} value" with the labels
sorted, and exits 1 (saying why) if the page cannot be fetched or parsed."""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    url = sys.argv[1]
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode("utf-8")
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # noqa: BLE001 - any failure is the answer
        print(f"scrape_metrics.py: {url}: {e}", file=sys.stderr)
        return 1
    for family in families:
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            print(f"{sample.name}{{{labels}}} {sample.value!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
