# Sourced by ./clusterkv and ./run-tests: sets JDK to a JDK 25+ home (JAVA_HOME first, then the usual install folders).
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }

find_jdk() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home)
  local c v
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] || continue
    v="$(java_major "$c")"
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}

JDK="$(find_jdk)" || { echo "error: clusterkv needs a JDK 25 or newer (set JAVA_HOME, or install one under /usr/lib/jvm)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "error: building clusterkv needs Maven (apt-get install maven)" >&2; exit 1; }
# Maven's own guava warns under JDK 25; colours garble logs.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
MVN=(mvn -B -Dstyle.color=never)
