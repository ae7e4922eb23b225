#!/usr/bin/env bash
# A commit gated by RefleXGen, in a throw-away repository: a staged SQL injection is blocked,
# the fixed version goes through. Uses a private state dir so it never touches yours.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli=("$(command -v node)" "$root/dist/cli/main.js")
demo="$(mktemp -d /tmp/reflexgen-demo-XXXXXX)"
export REFLEXGEN_HOME="$demo/.state"
trap '"${cli[@]}" daemon stop >/dev/null 2>&1 || true' EXIT

cd "$demo"
git init -q -b main .
git config user.email demo@example.com
git config user.name "RefleXGen demo"
"${cli[@]}" init

cat > app.py <<'PY'
import sqlite3
from flask import Flask, request

app = Flask(__name__)


@app.route('/unsubscribe')
def unsubscribe():
    email = request.args.get('email')
    db = sqlite3.connect('subscriptions.db')
    cur = db.cursor()
    cur.execute("DELETE FROM subscriptions WHERE email = '%s'" % email)
    db.commit()
    return 'ok'
PY
git add app.py
echo
echo "\$ git commit -m 'add unsubscribe'      # staged: a SQL query built from request data"
if git commit -q -m "add unsubscribe"; then
  echo "demo: UNEXPECTED: the vulnerable commit went through" >&2
  exit 1
fi

sed -i "s/\"DELETE FROM subscriptions WHERE email = '%s'\" % email/\"DELETE FROM subscriptions WHERE email = ?\", (email,)/" app.py
git add app.py
echo
echo "\$ git commit -m 'add unsubscribe'      # staged: the parameterized query"
git commit -q -m "add unsubscribe"
echo
git log --oneline
echo
"${cli[@]}" daemon status
echo
echo "demo: done (repository left in $demo)"
