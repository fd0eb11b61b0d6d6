#!/usr/bin/env bash
# The GitHub Action's scan step: runs `mcp-audit scan` with the action's inputs, given as INPUT_*
# environment variables, and writes the report even when findings fail the step, so that the
# workflow can still upload it. MCP_AUDIT names the binary (default: `mcp-audit` on PATH).
set -euo pipefail

bin="${MCP_AUDIT:-mcp-audit}"
format="${INPUT_FORMAT:-sarif}"
output="${INPUT_OUTPUT:-mcp-audit.sarif}"
fail_on="${INPUT_FAIL_ON:-high}"
offline="${INPUT_OFFLINE:-true}"

args=(scan --format "$format" --output "$output" --fail-on "$fail_on")
case "$offline" in
  true | yes | 1) args+=(--offline) ;;
  false | no | 0 | "") ;;
  *)
    echo "::error::the offline input must be 'true' or 'false', not '$offline'"
    exit 2
    ;;
esac

if [ -n "${INPUT_POLICY:-}" ]; then
  args+=(--policy "$INPUT_POLICY")
fi

# Paths are separated by white space; `--` keeps a path that starts with `-` a path.
paths=()
if [ -n "${INPUT_PATHS:-}" ]; then
  read -r -d '' -a paths <<<"$INPUT_PATHS" || true
fi
if [ "${#paths[@]}" -gt 0 ]; then
  args+=(-- "${paths[@]}")
fi

# The workspace is the pull request's: a symlink it planted at the report's path must not be
# what the upload step reads when the scan fails before writing (mcp-audit itself replaces one).
if [ -L "$output" ]; then
  rm -f -- "$output"
fi

status=0
"$bin" "${args[@]}" || status=$?

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "report=$output"
    echo "exit-code=$status"
  } >>"$GITHUB_OUTPUT"
fi
case "$status" in
  0) ;;
  1) echo "::error::mcp-audit found problems at or above '$fail_on'; the report is $output" ;;
  *) echo "::error::mcp-audit could not complete the scan (exit code $status)" ;;
esac
exit "$status"
