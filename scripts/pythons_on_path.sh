# Source me: makes python3.10 ... python3.13 runnable by name when pyenv has them but its shims only
# serve the global version (hatch's matrix environments look interpreters up by name and would
# otherwise try to download one). Only the versioned names are added, so `python3` is unchanged.
#
#   . scripts/pythons_on_path.sh && hatch run +host=2.10 +py=3.10 matrix:conformance
_isolation_links="${TMPDIR:-/tmp}/isolation-pythons-$(id -u)"
mkdir -p "$_isolation_links"
for _isolation_v in 3.10 3.11 3.12 3.13; do
  if ! "python$_isolation_v" -c "" >/dev/null 2>&1; then
    for _isolation_python in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$_isolation_v".*/bin/"python$_isolation_v"; do
      [ -x "$_isolation_python" ] && ln -sfn "$_isolation_python" "$_isolation_links/python$_isolation_v" && break
    done
  fi
done
case ":$PATH:" in *":$_isolation_links:"*) ;; *) PATH="$_isolation_links:$PATH" ;; esac
export PATH
unset _isolation_v _isolation_python _isolation_links
