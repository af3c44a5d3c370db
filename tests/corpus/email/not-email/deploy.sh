#!/bin/sh
set -eu
echo "Subject: deploy finished" | sendmail ops@example.com
