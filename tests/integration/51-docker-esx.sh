#!/usr/bin/env bash
# The Docker engine workflow through the ESX path (vdvsd --backend esx ->
# esxsim -> emulated datastore).
VDVS_TEST_BACKEND=esx exec bash "$(dirname "$0")/50-docker.sh"
