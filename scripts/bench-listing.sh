#!/usr/bin/env bash
# Fleet discovery benchmark: 1,000 VMs in 10 resource groups against the bundled emulator with
# ARM's and Compute's read budgets switched on. Prints wall time, ARM requests by kind, 429s
# retried on the wire and the floor ARM's read budget sets (see benches/listing.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --locked --bench listing "$@"
