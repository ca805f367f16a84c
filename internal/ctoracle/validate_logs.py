#!/usr/bin/python3 -I
"""validate_logs.py -- run the real `aws cloudtrail validate-logs` over local files.

Debian's awscli (2.9.19, /usr/bin/aws) checks CloudTrail log and digest files
the way AWS does, but it insists on fetching them from S3 and the trail and
its public keys from CloudTrail.  This script runs that verifier, in this
process, against two loopback-only stand-ins that it serves from threads:

  * CloudTrail DescribeTrails / GetTrail / ListPublicKeys and Organizations
    DescribeOrganization (JSON 1.1), answered from the command line below;
  * a read-only S3 server over a directory (GetBucketLocation, ListObjects
    v1/v2, GetObject, HEAD) whose x-amz-meta-* headers come from a sidecar
    "<key>.metadata.json" holding {"signature": "<hex>",
    "signature-algorithm": "SHA256withRSA"} -- the way the file sink stores
    S3 object metadata.  Sidecars are never listed or served.

botocore's client factory is patched so that every client the verifier makes
(cloudtrail, organizations, s3) reaches those servers, any other service is
refused, and a socket guard refuses to resolve or connect to anything that is
not loopback: nothing can leave the machine.

Set-up (once per machine):  apt-get install -y awscli

Usage:
  validate_logs.py --dir DIR --bucket B --trail-arn ARN --public-key PEM
                   --start-time T [--end-time T] [--prefix P] [options]

Files: DIR/<bucket>/<key>, or DIR/<key> when DIR/<bucket> does not exist.

Options:
  --dir DIR            local tree (required unless --s3-endpoint)
  --bucket B           S3 bucket the files were written for (required)
  --trail-arn ARN      arn:aws:cloudtrail:<home-region>:<account>:trail/<name>
  --public-key PEM     "PUBLIC KEY" or "RSA PUBLIC KEY" PEM file; repeatable
  --fingerprint FP     fingerprint served for the Nth --public-key
                       (default: MD5 hex of its PKCS#1 DER, which must equal
                       the digests' digestPublicKeyFingerprint)
  --key-validity S,E   validity window served for every key
                       (default 2000-01-01T00:00:00Z,2100-01-01T00:00:00Z)
  --start-time T       passed to the verifier (read as UTC)
  --end-time T         passed to the verifier (default: now)
  --prefix P           the trail's S3 key prefix ('' = none)
  --s3-endpoint URL    a loopback S3-compatible server (MinIO) instead of DIR
  --account-id ID      verifier --account-id (required for org trails)
  --org-id O-ID        make the trail an organization trail of O-ID
  --source-region R    verifier --region (default: the ARN's region); selects
                       CloudTrail-Digest/<R>/ and the "_<R>_<name>_" digests
  --pass-bucket        also pass --s3-bucket/--s3-prefix (skips DescribeTrails;
                       not for organization trails)
  --sidecar-suffix S   metadata sidecar suffix (default .metadata.json)
  --min-digests N      exit 4 when fewer than N digests were validated
                       (validate-logs exits 0 with "No digests found" when
                       nothing matched: always pass --min-digests)
  --fail-on-gap        exit 5 when the verifier reported a chain restart
                       ("No log files were delivered by CloudTrail between"),
                       which validate-logs does not count as INVALID
  --timeout SECS       bound for the verifier run (default 120)
  --trace              print the clients made and the requests served
  --debug              pass --debug to the verifier (botocore wire log)

The verifier's stdout and stderr (INVALID lines go to stderr) are merged, in
order, onto stdout; "[harness]" notes go to stderr.

Exit codes: 0 every file found is valid; 1 something INVALID; 255 verifier
error (e.g. no public key in range); 252 bad verifier arguments; harness:
2 bad usage or awscli missing, 4 --min-digests not met, 5 --fail-on-gap
tripped, 124 --timeout hit.

Credentials sent to the stand-ins: CT_HARNESS_ACCESS_KEY/CT_HARNESS_SECRET_KEY
(default minioadmin/minioadmin, MinIO's); ambient AWS_* settings and ~/.aws
are ignored.
"""
import argparse
import base64
import datetime
import email.utils
import hashlib
import inspect
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

INSTALL = 'apt-get install -y awscli'
CT_TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.'
ORG_TARGET = 'AWSOrganizationsV20161128.'
S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

REAL_STDOUT = sys.stdout
REAL_STDERR = sys.stderr
TRACE = []  # request log lines, printed with --trace


def note(msg):
    REAL_STDERR.write('[harness] %s\n' % msg)
    REAL_STDERR.flush()


def usage(msg):
    REAL_STDERR.write('validate_logs.py: %s (see --help)\n' % msg)
    sys.exit(2)


# ---------------------------------------------------------------------------
# Network guard: loopback only.
# ---------------------------------------------------------------------------
def is_loopback(host):
    if host in ('localhost', 'localhost.localdomain'):
        return True
    try:
        return ipaddress.ip_address(host.split('%')[0].strip('[]')).is_loopback
    except ValueError:
        return False


def guard_network():
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host is not None:
            name = host.decode() if isinstance(host, bytes) else str(host)
            if not is_loopback(name):
                raise OSError('harness: refusing to resolve %r' % name)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) \
                and not is_loopback(str(address[0])):
            raise OSError('harness: refusing to connect to %r' % (address,))
        return real_connect(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect


# ---------------------------------------------------------------------------
# Keys and times.
# ---------------------------------------------------------------------------
def load_key(path, fingerprint, start, end):
    from cryptography.hazmat.primitives import serialization
    with open(path, 'rb') as fh:
        key = serialization.load_pem_public_key(fh.read())
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.PKCS1)
    return {'der': der, 'fingerprint': fingerprint or hashlib.md5(der).hexdigest(),
            'start': start, 'end': end}


def parse_time(value):
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    text = str(value).strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    t = datetime.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc)


# ---------------------------------------------------------------------------
# Stand-in servers.
# ---------------------------------------------------------------------------
class Quiet(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers, head_only=False):
        self.send_response(status)
        headers = dict(headers)
        headers.setdefault('Content-Length', str(len(body)))
        headers.setdefault('x-amz-request-id', 'harness-%d' % time.time_ns())
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body and not head_only:
            self.wfile.write(body)
        TRACE.append('%s %s %s -> %d' % (self.server.name, self.command,
                                         self.path, status))

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''


class CloudTrailHandler(Quiet):
    """CloudTrail and Organizations, JSON 1.1 over POST."""

    def do_POST(self):
        target = self.headers.get('X-Amz-Target', '')
        try:
            params = json.loads(self.body().decode() or '{}')
        except ValueError:
            params = {}
        ops = {
            CT_TARGET + 'DescribeTrails': self.describe_trails,
            CT_TARGET + 'GetTrail': self.get_trail,
            CT_TARGET + 'ListPublicKeys': self.list_public_keys,
            ORG_TARGET + 'DescribeOrganization': self.describe_organization,
        }
        op = ops.get(target)
        try:
            status, out = op(params) if op else fault(
                'UnknownOperationException', 'not served: %r' % target)
        except Exception as exc:  # report, never crash the server
            status, out = fault('InternalFailure', repr(exc), 500)
        self.send(status, json.dumps(out).encode(),
                  {'Content-Type': 'application/x-amz-json-1.1'})

    def do_GET(self):
        status, out = fault('UnknownOperationException', 'POST only')
        self.send(status, json.dumps(out).encode(), {})

    def describe_trails(self, params):
        names = params.get('trailNameList') or []
        t = self.server.trail
        if names and t['Name'] not in names and t['TrailARN'] not in names:
            return 200, {'trailList': []}
        return 200, {'trailList': [t]}

    def get_trail(self, params):
        t = self.server.trail
        if params.get('Name') in (t['Name'], t['TrailARN']):
            return 200, {'Trail': t}
        return fault('TrailNotFoundException', 'Unknown trail: %s'
                     % params.get('Name'))

    def list_public_keys(self, params):
        now = datetime.datetime.now(datetime.timezone.utc)
        start = parse_time(params.get('StartTime', now.timestamp()))
        end = parse_time(params.get('EndTime', now.timestamp()))
        if start > end:
            return fault('InvalidTimeRangeException', 'StartTime after EndTime')
        keys = []
        for k in self.server.keys:
            if k['start'] <= end and k['end'] >= start:
                # A blob: base64 text, which validate-logs decodes itself.
                keys.append({'Value': base64.b64encode(k['der']).decode(),
                             'ValidityStartTime': k['start'].timestamp(),
                             'ValidityEndTime': k['end'].timestamp(),
                             'Fingerprint': k['fingerprint']})
        return 200, {'PublicKeyList': keys}

    def describe_organization(self, params):
        org = self.server.org_id
        if not org:
            return fault('AWSOrganizationsNotInUseException',
                         'Your account is not a member of an organization.')
        acct = self.server.trail['TrailARN'].split(':')[4]
        return 200, {'Organization': {
            'Id': org, 'FeatureSet': 'ALL', 'MasterAccountId': acct,
            'Arn': 'arn:aws:organizations::%s:organization/%s' % (acct, org),
            'MasterAccountArn': 'arn:aws:organizations::%s:account/%s/%s'
                                % (acct, org, acct),
            'MasterAccountEmail': 'management@example.invalid'}}


def fault(code, message, status=400):
    return status, {'__type': code, 'message': message}


class S3Handler(Quiet):
    """Read-only, path-style S3 over directories; authentication ignored."""

    def do_HEAD(self):
        self.route(True)

    def do_GET(self):
        self.route(False)

    def read_only(self):
        self.body()
        self.error(405, 'MethodNotAllowed', 'read-only', '')

    do_PUT = do_POST = do_DELETE = read_only

    def xml(self, status, text, head_only=False):
        self.send(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + text)
                  .encode(), {'Content-Type': 'application/xml'}, head_only)

    def error(self, status, code, message, resource, head_only=False):
        self.xml(status, '<Error><Code>%s</Code><Message>%s</Message>'
                 '<Resource>%s</Resource></Error>'
                 % (code, escape(message), escape(resource)), head_only)

    def route(self, head_only):
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        bucket, _, key = url.path.lstrip('/').partition('/')
        bucket, key = unquote(bucket), unquote(key)
        base = self.server.buckets.get(bucket)
        if base is None:
            return self.error(404, 'NoSuchBucket', 'no such bucket', bucket,
                              head_only)
        if not key and 'location' in query:
            return self.xml(200, '<LocationConstraint xmlns="%s"/>' % S3_NS,
                            head_only)
        if not key:
            return self.list(bucket, base, query, head_only)
        return self.get(bucket, base, key, head_only)

    def keys(self, base):
        suffix, out = self.server.sidecar, []
        for dirpath, _, files in os.walk(base):
            for name in files:
                path = os.path.join(dirpath, name)
                if suffix and path.endswith(suffix):
                    continue
                out.append((os.path.relpath(path, base).replace(os.sep, '/'),
                            path))
        out.sort(key=lambda kp: kp[0].encode())  # S3 lists in byte order
        return out

    def list(self, bucket, base, query, head_only):
        def q(name, default=''):
            return query.get(name, [default])[0]
        v2 = q('list-type') == '2'
        prefix, delim = q('prefix'), q('delimiter')
        urlenc = q('encoding-type') == 'url'
        try:
            max_keys = max(0, min(1000, int(q('max-keys', '1000'))))
        except ValueError:
            return self.error(400, 'InvalidArgument', 'bad max-keys', '')
        after = (q('continuation-token') or q('start-after')) if v2 else q('marker')

        def enc(text):
            return escape(quote(text, safe='/') if urlenc else text)

        contents, prefixes, seen, truncated, last = [], [], set(), False, None
        for key, path in self.keys(base):
            if not key.startswith(prefix) or (after and key.encode() <= after.encode()):
                continue
            rest = key[len(prefix):]
            common = prefix + rest.split(delim, 1)[0] + delim \
                if delim and delim in rest else None
            if common in seen:
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if common:
                seen.add(common)
                prefixes.append(common)
                last = common
            else:
                contents.append((key, path))
                last = key
        out = ['<ListBucketResult xmlns="%s"><Name>%s</Name><Prefix>%s</Prefix>'
               % (S3_NS, escape(bucket), enc(prefix))]
        if v2:
            out.append('<KeyCount>%d</KeyCount>' % (len(contents) + len(prefixes)))
            if truncated:
                out.append('<NextContinuationToken>%s</NextContinuationToken>'
                           % escape(last))
        else:
            out.append('<Marker>%s</Marker>' % enc(after))
            if truncated:
                out.append('<NextMarker>%s</NextMarker>' % enc(last))
        out.append('<MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>'
                   % (max_keys, 'true' if truncated else 'false'))
        if delim:
            out.append('<Delimiter>%s</Delimiter>' % enc(delim))
        if urlenc:
            out.append('<EncodingType>url</EncodingType>')
        for key, path in contents:
            st = os.stat(path)
            out.append('<Contents><Key>%s</Key><LastModified>%s</LastModified>'
                       '<ETag>%s</ETag><Size>%d</Size><StorageClass>STANDARD'
                       '</StorageClass></Contents>'
                       % (enc(key), time.strftime('%Y-%m-%dT%H:%M:%S.000Z',
                                                  time.gmtime(st.st_mtime)),
                          escape(etag(path)), st.st_size))
        for p in prefixes:
            out.append('<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>'
                       % enc(p))
        out.append('</ListBucketResult>')
        self.xml(200, ''.join(out), head_only)

    def get(self, bucket, base, key, head_only):
        suffix = self.server.sidecar
        path = os.path.normpath(os.path.join(base, *key.split('/')))
        inside = os.path.abspath(path).startswith(os.path.abspath(base) + os.sep)
        if not inside or (suffix and path.endswith(suffix)) \
                or not os.path.isfile(path):
            return self.error(404, 'NoSuchKey', 'The specified key does not '
                              'exist.', '/%s/%s' % (bucket, key), head_only)
        with open(path, 'rb') as fh:
            data = fh.read()
        headers = {'Content-Type': 'application/octet-stream',
                   'ETag': etag(path), 'Accept-Ranges': 'bytes',
                   'Last-Modified': email.utils.formatdate(
                       os.stat(path).st_mtime, usegmt=True)}
        side = path + suffix if suffix else None
        if side and os.path.isfile(side):
            try:
                with open(side) as fh:
                    meta = json.load(fh)
            except ValueError as exc:
                return self.error(500, 'InternalError', 'bad sidecar %s: %s'
                                  % (side, exc), key)
            for name, value in meta.items():
                name = name.lower()
                if name.startswith('x-amz-meta-'):
                    name = name[len('x-amz-meta-'):]
                headers['x-amz-meta-' + name] = str(value)
        self.send(200, data, headers, head_only)


def etag(path):
    h = hashlib.md5()
    with open(path, 'rb') as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b''):
            h.update(chunk)
    return '"%s"' % h.hexdigest()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(name, handler, **attrs):
    """Start a server on a free 127.0.0.1 port in a daemon thread."""
    srv = Server(('127.0.0.1', 0), handler)
    srv.name = name
    for k, v in attrs.items():
        setattr(srv, k, v)
    threading.Thread(target=srv.serve_forever, name=name, daemon=True).start()
    return 'http://127.0.0.1:%d' % srv.server_address[1]


# ---------------------------------------------------------------------------
# The verifier.
# ---------------------------------------------------------------------------
def patch_clients(endpoints, trace):
    import awscli  # noqa: F401 -- makes `import botocore` the vendored one
    import botocore.session
    from botocore.config import Config

    base = Config(connect_timeout=20, read_timeout=20,
                  retries={'max_attempts': 1})
    real = botocore.session.Session.create_client
    sig = inspect.signature(real)

    def create_client(self, service_name, *args, **kwargs):
        kw = dict(sig.bind(self, service_name, *args, **kwargs).arguments)
        kw.pop('self')
        kw.pop('service_name')
        if service_name not in endpoints:
            raise RuntimeError('harness: no %r client allowed' % service_name)
        if not kw.get('endpoint_url'):
            kw['endpoint_url'] = endpoints[service_name]
        cfg = base
        if service_name == 's3':
            cfg = cfg.merge(Config(s3={'addressing_style': 'path'}))
        if kw.get('config') is not None:
            cfg = cfg.merge(kw['config'])
        kw['config'] = cfg
        if trace:
            note('client %s (region %s) -> %s' % (service_name,
                                                 kw.get('region_name'),
                                                 kw['endpoint_url']))
        return real(self, service_name, **kw)

    botocore.session.Session.create_client = create_client


class Tee(object):
    """Merges the verifier's stdout and stderr, in order, and keeps a copy."""

    def __init__(self, out):
        self.out, self.text, self.lock = out, [], threading.Lock()

    def write(self, s):
        with self.lock:
            self.text.append(s)
            self.out.write(s)
            self.out.flush()
        return len(s)

    def flush(self):
        self.out.flush()

    def isatty(self):
        return False

    @property
    def encoding(self):
        return getattr(self.out, 'encoding', 'utf-8')

    def fileno(self):
        return self.out.fileno()


def main(argv):
    ap = argparse.ArgumentParser(add_help=False)
    for flag in ('--dir', '--bucket', '--trail-arn', '--start-time',
                 '--end-time', '--prefix', '--s3-endpoint', '--account-id',
                 '--org-id', '--source-region'):
        ap.add_argument(flag, default='')
    ap.add_argument('--public-key', action='append', default=[])
    ap.add_argument('--fingerprint', action='append', default=[])
    ap.add_argument('--key-validity',
                    default='2000-01-01T00:00:00Z,2100-01-01T00:00:00Z')
    ap.add_argument('--sidecar-suffix', default='.metadata.json')
    ap.add_argument('--min-digests', type=int, default=0)
    ap.add_argument('--timeout', type=int, default=120)
    for flag in ('--fail-on-gap', '--pass-bucket', '--trace', '--debug',
                 '-h', '--help'):
        ap.add_argument(flag, action='store_true')
    try:
        a = ap.parse_args(argv)
    except SystemExit:
        sys.exit(2)
    if a.help or a.h:
        REAL_STDOUT.write(__doc__)
        return 0

    if not a.bucket:
        usage('--bucket is required')
    if not a.start_time:
        usage('--start-time is required')
    if not a.public_key:
        usage('--public-key is required')
    m = re.match(r'^arn:[^:]+:cloudtrail:([^:]+):([0-9]{12}):trail/(.+)$',
                 a.trail_arn)
    if not m:
        usage('--trail-arn is required, as arn:aws:cloudtrail:REGION:ACCOUNT:'
              'trail/NAME (got %r)' % a.trail_arn)
    home, _, name = m.groups()
    if a.org_id and not a.account_id:
        usage('--org-id needs --account-id (the member account to validate)')
    if a.org_id and a.pass_bucket:
        usage('--pass-bucket skips DescribeTrails, which org trails need')
    if a.s3_endpoint and not re.match(
            r'^https?://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?/?$',
            a.s3_endpoint):
        usage('--s3-endpoint must be a loopback URL: %r' % a.s3_endpoint)
    if not a.s3_endpoint and not os.path.isdir(a.dir):
        usage('--dir must be a directory (got %r)' % a.dir)
    if not os.path.isfile('/usr/bin/aws'):
        REAL_STDERR.write('validate_logs.py: /usr/bin/aws is missing; '
                          'install it with: %s\n' % INSTALL)
        return 2
    vstart, _, vend = a.key_validity.partition(',')
    try:
        keys = [load_key(p, a.fingerprint[i] if i < len(a.fingerprint) else '',
                         parse_time(vstart), parse_time(vend))
                for i, p in enumerate(a.public_key)]
    except (OSError, ValueError) as exc:
        usage('cannot load --public-key: %s' % exc)

    guard_network()
    trail = {'Name': name, 'S3BucketName': a.bucket, 'HomeRegion': home,
             'TrailARN': a.trail_arn, 'IncludeGlobalServiceEvents': True,
             'IsMultiRegionTrail': False, 'LogFileValidationEnabled': True,
             'HasCustomEventSelectors': False, 'HasInsightSelectors': False,
             'IsOrganizationTrail': bool(a.org_id)}
    if a.prefix:
        trail['S3KeyPrefix'] = a.prefix
    ct = serve('cloudtrail', CloudTrailHandler, trail=trail, keys=keys,
               org_id=a.org_id)
    if a.s3_endpoint:
        s3 = a.s3_endpoint
    else:
        root = os.path.join(a.dir, a.bucket)
        if not os.path.isdir(root):
            note('no %s folder: serving %s itself as bucket %s'
                 % (root, a.dir, a.bucket))
            root = a.dir
        s3 = serve('s3', S3Handler, buckets={a.bucket: root},
                   sidecar=a.sidecar_suffix)
    note('CloudTrail/Organizations at %s, S3 at %s' % (ct, s3))

    # The verifier sees only what we give it: no ambient AWS settings.
    work = tempfile.mkdtemp(prefix='validate-logs-')
    empty = os.path.join(work, 'empty')
    open(empty, 'w').close()
    for k in [k for k in os.environ if k.startswith('AWS_')]:
        del os.environ[k]
    os.environ.update({
        'HOME': work, 'AWS_CONFIG_FILE': empty,
        'AWS_SHARED_CREDENTIALS_FILE': empty, 'AWS_EC2_METADATA_DISABLED': 'true',
        'AWS_PAGER': '',
        'AWS_ACCESS_KEY_ID': os.environ.get('CT_HARNESS_ACCESS_KEY', 'minioadmin'),
        'AWS_SECRET_ACCESS_KEY': os.environ.get('CT_HARNESS_SECRET_KEY',
                                                'minioadmin')})
    try:
        patch_clients({'cloudtrail': ct, 'organizations': ct, 's3': s3},
                      a.trace)
        import awscli.clidriver
    except ImportError as exc:
        REAL_STDERR.write('validate_logs.py: cannot load Debian awscli (%s); '
                          'install it with: %s\n' % (exc, INSTALL))
        return 2

    args = ['--endpoint-url', ct, '--region', a.source_region or home,
            '--no-cli-pager']
    if a.debug:
        args.append('--debug')
    args += ['cloudtrail', 'validate-logs', '--trail-arn', a.trail_arn,
             '--start-time', a.start_time, '--verbose']
    if a.end_time:
        args += ['--end-time', a.end_time]
    if a.account_id:
        args += ['--account-id', a.account_id]
    if a.pass_bucket:
        args += ['--s3-bucket', a.bucket]
        if a.prefix:
            args += ['--s3-prefix', a.prefix]
    note('running: aws ' + ' '.join(args))

    def timed_out(signum, frame):
        note('verifier did not finish within %ds' % a.timeout)
        REAL_STDOUT.flush()
        os._exit(124)  # the servers are threads of this process: gone too
    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(a.timeout)

    tee = Tee(REAL_STDOUT)
    sys.stdout = sys.stderr = tee
    t0 = time.time()
    try:
        sys.argv[0] = 'aws'
        rc = awscli.clidriver.AWSCLIEntryPoint().main(args)
    finally:
        signal.alarm(0)
        sys.stdout, sys.stderr = REAL_STDOUT, REAL_STDERR
    rc = rc or 0
    verifier_rc = rc
    text = ''.join(tee.text)
    valid = re.search(r'^(\d+)/\d+ digest files valid', text, re.M)
    valid = int(valid.group(1)) if valid else 0
    if re.search(r'^No digests found', text, re.M):
        note('WARNING: no digests found -- nothing was validated (check '
             '--start-time/--end-time, the trail ARN, --prefix, '
             '--source-region)')
    if rc == 0 and valid < a.min_digests:
        note('only %d digest(s) validated, --min-digests %d required'
             % (valid, a.min_digests))
        rc = 4
    if rc == 0 and a.fail_on_gap and re.search(
            r'^No log files were delivered by CloudTrail between', text, re.M):
        note('digest chain restarted inside the window (--fail-on-gap)')
        rc = 5
    if a.trace:
        for line in TRACE:
            note(line)
    note('exit code %d (verifier %d) after %.2fs' % (rc, verifier_rc,
                                                     time.time() - t0))
    try:
        os.remove(empty)
        os.rmdir(work)
    except OSError:
        pass
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
