# Sourced by the scripts in bin/: finds a JDK 22+ and exports JAVA_HOME (and PATH) for it, and
# builds a runnable jar when it is missing or older than its sources.
# Order: $JAVA_HOME when it qualifies, else the newest qualifying JDK under /usr/lib/jvm.
# Plain `java` on PATH is never trusted (Debian's default is 17).
# ABYSS_JVM_DIR overrides /usr/lib/jvm (used to test the not-found path).

ABYSS_MIN_JDK=22

# Prints the feature version (e.g. 25) of the JDK at $1, or nothing if it is not a JDK.
abyss_jdk_version() {
  local home=$1 v=
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  if [ -r "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*"/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1)
  fi
  [ "$v" = 1 ] && v=8
  printf '%s' "$v"
}

abyss_find_jdk() {
  local v best= best_v=0 home
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(abyss_jdk_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$ABYSS_MIN_JDK" ]; then
      best=$JAVA_HOME best_v=$v
    fi
  fi
  if [ -z "$best" ]; then
    for home in "${ABYSS_JVM_DIR:-/usr/lib/jvm}"/*; do
      [ -d "$home" ] && [ ! -L "$home" ] || continue
      v=$(abyss_jdk_version "$home")
      if [ -n "$v" ] && [ "$v" -ge "$ABYSS_MIN_JDK" ] && [ "$v" -gt "$best_v" ]; then
        best=$home best_v=$v
      fi
    done
  fi
  if [ -z "$best" ]; then
    echo "abyss: no JDK $ABYSS_MIN_JDK or newer found (JAVA_HOME=${JAVA_HOME:-unset}; looked in ${ABYSS_JVM_DIR:-/usr/lib/jvm})." >&2
    echo "abyss: install one, e.g. 'apt-get install temurin-25-jdk' (Adoptium repository) or 'apt-get install openjdk-25-jdk'," >&2
    echo "abyss: or download from https://adoptium.net, then set JAVA_HOME to it." >&2
    return 1
  fi
  export JAVA_HOME=$best
  export PATH="$JAVA_HOME/bin:$PATH"
  # Maven's own guava calls sun.misc.Unsafe; JDK 23+ warns about it at every start.
  if [ "$best_v" -ge 23 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
  # Maven 3.8's Jansi writes ESC[0m to stdout and stderr at exit even in batch mode without color.
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
  ABYSS_JDK_VERSION=$best_v
}

abyss_require_maven() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "abyss: Maven (mvn) is not on PATH; install it, e.g. 'apt-get install maven' (3.8 or newer)." >&2
    return 1
  fi
}

# abyss_build_if_stale JAR MODULE: builds MODULE (and the modules it needs) with Maven when JAR is
# missing or older than a pom.xml or a file under src/main of the modules it is made of. Test
# sources and generated files under target/ do not count, so a `bin/test` run leaves it fresh.
# Run from the repository root.
abyss_build_if_stale() {
  local jar=$1 module=$2 dirs
  case $module in
    abyss-cli) dirs="abyss-ffi abyss-server abyss-micrometer abyss-cli" ;;
    abyss-bench) dirs="abyss-ffi abyss-loopback abyss-server abyss-bench" ;;
    *) dirs=$module ;;
  esac
  local sources=(pom.xml)
  local d
  for d in $dirs; do
    sources+=("$d/pom.xml")
    [ -d "$d/src/main" ] && sources+=("$d/src/main")
  done
  if [ -f "$jar" ] && [ -z "$(find "${sources[@]}" -type f -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  abyss_require_maven
  echo "abyss: building $jar with JDK $ABYSS_JDK_VERSION" >&2
  # -q: only problems; no javadoc or sources jars for a quick runnable build
  mvn -B -ntp -q -Dstyle.color=never -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
      -pl "$module" -am package >&2
}
