#!/bin/sh
# The images' entrypoint: secrets from files, then `cadre "$@"`.
#
# For every setting NAME in the list below, NAME_FILE=/path (a Docker/Compose secret under
# /run/secrets, a mounted Kubernetes Secret) sets NAME to that file's content (one trailing
# newline dropped), so no secret has to sit in the container's configuration. Setting
# both NAME and NAME_FILE is an error. `cadre` itself only reads the environment.
set -eu

for name in CADRE_SECRET_KEY CADRE_ADMIN_PASSWORD CADRE_DATABASE_URL CADRE_REDIS_URL \
            CADRE_METRICS_TOKEN CADRE_LLM_API_KEY OPENROUTER_API_KEY OPENAI_API_KEY; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  eval "direct=\${${name}:-}"
  if [ -n "$direct" ]; then
    echo "cadre-entrypoint: both $name and ${name}_FILE are set; set one" >&2
    exit 64
  fi
  if [ ! -r "$file" ]; then
    echo "cadre-entrypoint: ${name}_FILE=$file is not a readable file" >&2
    exit 66
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done

exec /usr/local/bin/cadre "$@"
