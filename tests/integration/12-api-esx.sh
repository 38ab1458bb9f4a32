#!/usr/bin/env bash
# The same API test through the ESX path: vdvsd --backend esx speaking the
# upstream wire protocol to esxsim over a unix socket.
VDVS_TEST_BACKEND=esx exec bash "$(dirname "$0")/10-api.sh"
