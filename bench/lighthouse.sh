#!/usr/bin/env bash
# Lighthouse scores (performance, accessibility, best practices, SEO) of a running site's
# course and lesson pages, as a visitor and as a signed-in learner. Not part of the suite
# (axe runs there, in the browser tests): run it against `make run` before and after a change
# to pages and compare.
#
#   bench/lighthouse.sh [BASE_URL] [COURSE_SLUG] [LESSON_SLUG]
#
# Defaults: http://127.0.0.1:8000, the demo's python-for-beginners and its
# variables-and-types lesson. The learner is the demo's learner@example.com (a session is
# made for them in the database DATABASE_URL points at). Lighthouse comes from the npm
# registry into a cache folder (LIGHTHOUSE_DIR, default .cache/lighthouse); Chromium from
# CHROMIUM_PATH (default /usr/bin/chromium).
set -euo pipefail
base=${1:-http://127.0.0.1:8000}
course=${2:-python-for-beginners}
lesson=${3:-variables-and-types}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${LIGHTHOUSE_DIR:-$root/.cache/lighthouse}
python=${PYTHON:-$root/.venv/bin/python}
if [ ! -x "$dir/node_modules/.bin/lighthouse" ]; then
  command -v npm >/dev/null || { echo "Lighthouse needs npm (to install it from the registry)." >&2; exit 1; }
  mkdir -p "$dir" && npm install --prefix "$dir" --silent --no-audit --no-fund lighthouse@12
fi
session=$(cd "$root" && "$python" manage.py shell -c "
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
user = User.objects.get(email='learner@example.com')
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                BACKEND_SESSION_KEY: 'django.contrib.auth.backends.ModelBackend'})
session.create()
print(session.session_key)" | tail -n 1)
flags="--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"
out=$(mktemp -d)
for page in "course, visitor|/courses/$course/|" "course, learner|/courses/$course/|$session" \
            "lesson, learner|/courses/$course/$lesson/|$session"; do
  IFS='|' read -r label path cookie <<< "$page"
  headers=()
  [ -n "$cookie" ] && headers=("--extra-headers={\"Cookie\":\"sessionid=$cookie\"}")
  CHROME_PATH=${CHROMIUM_PATH:-/usr/bin/chromium} "$dir/node_modules/.bin/lighthouse" \
    "$base$path" --quiet --chrome-flags="$flags" "${headers[@]}" \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$out/report.json" >/dev/null 2>&1
  python3 - "$label" "$out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[2]))
scores = {name: round(category["score"] * 100) for name, category in report["categories"].items()}
print(f"{sys.argv[1]:<16}", "  ".join(f"{name} {score}" for name, score in scores.items()))
PY
done
rm -rf "$out"
