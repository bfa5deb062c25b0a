#!/usr/bin/env bash
# Makes throwaway TLS test certificates in DIR with the openssl command (nothing is committed):
#   ca.pem/.key            a test CA
#   server.pem/.key        the proxy's certificate (127.0.0.1, localhost), from the CA
#   server2.pem/.key       another one, for the reload tests
#   client.pem/.key        a client certificate from the CA (CN acme)
#   other-client.pem/.key  another client certificate from the CA (CN intruder)
#   expired-client.pem/.key  from the CA, expired in 2020
#   stranger.pem/.key      a self-signed client certificate (no CA of ours)
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "make-certs: failed: $*" >&2; "$@"; exit 1; }; }

quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=hajib test CA" \
  -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# A key and a CSR for NAME with subject CN; signed by the CA with the extensions in EXT.
issue() {
  local name=$1 cn=$2 ext=$3
  quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr"
  printf '%s\n' "$ext" > "$name.ext"
  quiet openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile "$name.ext" -out "$name.pem"
  rm -f "$name.csr" "$name.ext"
}
server_ext=$'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
client_ext=$'extendedKeyUsage=clientAuth'
issue server "hajib test server" "$server_ext"
issue server2 "hajib test server 2" "$server_ext"
issue client acme "$client_ext"
issue other-client intruder "$client_ext"

# Expired: `openssl ca` is the one command of OpenSSL 3.0 that takes explicit dates.
quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=acme" -keyout expired-client.key -out expired-client.csr
: > index.txt
echo 1000 > serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
serial = serial
default_md = sha256
policy = any
email_in_dn = no
x509_extensions = client
[ any ]
commonName = supplied
[ client ]
extendedKeyUsage = clientAuth
CNF
quiet openssl ca -batch -config ca.cnf -startdate 20200101000000Z -enddate 20200201000000Z -notext \
  -in expired-client.csr -out expired-client.pem
rm -f expired-client.csr index.txt* serial* ca.cnf 1000.pem ca.srl

quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=acme" \
  -keyout stranger.key -out stranger.pem -addext "extendedKeyUsage=clientAuth"
