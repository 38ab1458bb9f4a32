#!/usr/bin/env bash
# The same API test with the extents attached directly (vmdkfs=off), the
# mode used when FUSE is not available.
VDVS_TEST_VMDKFS=off exec bash "$(dirname "$0")/10-api.sh"
