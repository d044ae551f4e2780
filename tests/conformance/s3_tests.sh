#!/usr/bin/env bash
# ceph's s3-tests against a fresh ossbox server (the S3 dialect), as docs/s3.md "Conformance" reports it.
#
#   tests/conformance/s3_tests.sh /path/to/s3-tests [pytest args...]
#
# Needs the suite's checkout (for example ../shared/conformance/s3-tests) and its Python packages in the
# active environment: pip install munch gevent isodate pytz httplib2 lxml pyyaml requests boto3 pytest
# pytest-timeout. Starts `ossbox server --workers 1` on a free loopback port with a data directory of its
# own, makes the alt and tenant identities (RAM users with AliyunOSSFullAccess), writes the suite's config,
# runs test_s3.py and prints pytest's summary line and how the failures differ from the recorded ones
# (tests/conformance/s3_tests_failing.txt); the full output and the server log stay in $WORK.
# Only 127.0.0.1 is contacted.
set -euo pipefail
suite=$(cd "$1" && pwd); shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d -t ossbox-s3-tests-XXXXXX)}
PY=${PYTHON:-$repo/.venv/bin/python}
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OSSBOX_ROOT_ACCESS_KEY_ID=0555b35654ad1656d804
export OSSBOX_ROOT_ACCESS_KEY_SECRET='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='
"$PY" -m ossbox server --address "127.0.0.1:$port" --data-dir "$WORK/data" --workers 1 --log-level warning \
  > "$WORK/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
ram() { "$PY" -m ossbox ram "$@" --data-dir "$WORK/data"; }
declare -A id secret
for user in alt tenant; do
  ram user create "s3$user" > /dev/null
  ram policy attach AliyunOSSFullAccess --user "s3$user" > /dev/null
  out=$(ram key create "s3$user")
  id[$user]=$(sed -n 's/^AccessKeyId=//p' <<< "$out")
  secret[$user]=$(sed -n 's/^AccessKeySecret=//p' <<< "$out")
done
cat > "$WORK/s3.conf" <<CONF
[DEFAULT]
host = 127.0.0.1
port = $port
is_secure = False
ssl_verify = False
[fixtures]
bucket prefix = s3t-{random}-
iam name prefix = s3-tests-
iam path prefix = /s3-tests/
[s3 main]
display_name = M. Tester
user_id = ossbox-root
email = tester@ceph.com
api_name = default
access_key = $OSSBOX_ROOT_ACCESS_KEY_ID
secret_key = $OSSBOX_ROOT_ACCESS_KEY_SECRET
[s3 alt]
display_name = john.doe
email = john.doe@example.com
user_id = alt
access_key = ${id[alt]}
secret_key = ${secret[alt]}
[s3 tenant]
display_name = testx
user_id = tenant
access_key = ${id[tenant]}
secret_key = ${secret[tenant]}
email = tenanteduser@example.com
tenant = testx
[iam]
email = s3@example.com
user_id = iam
access_key = ${id[alt]}
secret_key = ${secret[alt]}
display_name = iam
[iam root]
access_key = ${id[alt]}
secret_key = ${secret[alt]}
user_id = RGW11111111111111111
email = account1@ceph.com
[iam alt root]
access_key = ${id[tenant]}
secret_key = ${secret[tenant]}
user_id = RGW22222222222222222
email = account2@ceph.com
CONF
cd "$suite"
S3TEST_CONF="$WORK/s3.conf" python -m pytest s3tests/functional/test_s3.py -q --timeout 60 \
  -p no:cacheprovider -rf "$@" > "$WORK/result.txt" 2>&1 || true
tail -1 "$WORK/result.txt"
# Against the failures recorded in tests/conformance/s3_tests_failing.txt (the run docs/s3.md reports):
# what fails now and did not then, and what passes now.
grep -o '^FAILED s3tests/functional/test_s3.py::[^ ]*' "$WORK/result.txt" | sed 's/^FAILED //' | sort \
  > "$WORK/failing.txt"
echo "failing now, not in s3_tests_failing.txt: $(comm -13 "$repo/tests/conformance/s3_tests_failing.txt" "$WORK/failing.txt" | tr '\n' ' ')"
echo "in s3_tests_failing.txt, passing now: $(comm -23 "$repo/tests/conformance/s3_tests_failing.txt" "$WORK/failing.txt" | wc -l)"
echo "full output: $WORK/result.txt, server log: $WORK/server.log"
