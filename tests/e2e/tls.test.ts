// TLS on the client listeners (docs/TLS.md), in both modes: TeamTalk, WebSocket,
// tcp12, MSync and OMTP over TLS on ports next to the plain ones, file_server's
// transfer port and image store, login_server over HTTPS; login_server names the
// TLS addresses; a certificate replaced on disk reaches new connections without a
// restart (standalone: on SIGHUP; cluster: each process watches the files).
// Certificates come from a throw-away authority made at test time.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, FileServerConnection, MsyncClient, OmtpClient, Tcp12Client, TeamTalkClient, WsImClient, decryptContent, fetchToken, ok } from '@tt/client';
import { createTestPki, freePorts, standaloneListeners, type TestPki } from '@tt/testkit';
import { REPO_ROOT, describeLocal, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD } from './support/fixtures';

jest.setTimeout(60_000);

const { MessageCmdID, ClientFileRole } = IM.BaseDefine;
const { CommandType } = IM.Ws;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1ad3e1c0000000049454e44ae426082', 'hex');

const caOf = (pki: TestPki) => fs.readFileSync(pki.caFile);
const fingerprintOf = (pki: TestPki) => new X509Certificate(fs.readFileSync(pki.serverCertFile)).fingerprint256;

/** The fingerprint of the certificate a TLS port presents, verified against `pki`'s authority (or why it failed). */
function presented(port: number, pki: TestPki): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caOf(pki) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', (err) => resolve(`error: ${err.message}`));
  });
}

/** One HTTPS request trusting `pki`'s authority (fetch cannot be given a CA). */
function httpsRequest(url: string, pki: TestPki, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: caOf(pki) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.once('error', reject);
    req.end(opts.body);
  });
}

const getJson = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;

describeLocal('TLS on the client listeners', () => {
  describe.each<Mode>(['standalone', 'cluster'])('%s mode', (mode) => {
    let d: Deployment;
    let f: Fixture;
    let dir: string;
    // The certificate the deployment starts with, and the one that replaces it (another authority).
    let first: TestPki;
    let second: TestPki;
    /** Where the deployment reads its certificate: replaced in place by the last story. */
    let live: { cert: string; key: string };
    let ports: Record<'teamtalk' | 'wss' | 'tcp12' | 'msyncWss' | 'msyncTcp' | 'omtp' | 'file' | 'fileHttps' | 'loginHttps', number>;
    const others: Array<{ close(): void }> = [];

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `tt-e2e-tls-${mode}-`));
      first = await createTestPki(path.join(dir, 'first'));
      second = await createTestPki(path.join(dir, 'second'));
      live = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
      fs.copyFileSync(first.serverCertFile, live.cert);
      fs.copyFileSync(first.serverKeyFile, live.key);
      const [teamtalk, wss, tcp12, msyncWss, msyncTcp, omtp, file, fileHttps, loginHttps] = await freePorts(9);
      ports = { teamtalk, wss, tcp12, msyncWss, msyncTcp, omtp, file, fileHttps, loginHttps };
      d = await startDeployment(mode, {
        env: {
          TT_CONTENT_KEY: DEFAULT_CONTENT_KEY,
          CLIENT_TLS_CERT_FILE: live.cert,
          CLIENT_TLS_KEY_FILE: live.key,
          // Standalone re-reads the files on SIGHUP only; the cluster's processes check them every 200 ms.
          CLIENT_TLS_RELOAD_INTERVAL_MS: mode === 'standalone' ? '0' : '200',
          MSG_SERVER_TLS_PORT: String(teamtalk),
          MSG_SERVER_WSS_PORT: String(wss),
          MSG_SERVER_TCP12_TLS_PORT: String(tcp12),
          MSG_SERVER_MSYNC_WSS_PORT: String(msyncWss),
          MSG_SERVER_MSYNC_TCP_TLS_PORT: String(msyncTcp),
          MSG_SERVER_OMTP_TLS_PORT: String(omtp),
          FILE_SERVER_TLS_PORT: String(file),
          FILE_SERVER_HTTPS_PORT: String(fileHttps),
          LOGIN_HTTPS_PORT: String(loginHttps),
        },
      });
      f = new Fixture(d, `tls_${mode}_`);
    }, 120_000);

    afterAll(async () => {
      for (const c of others) c.close();
      f?.closeAll();
      await d?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    afterEach(() => expect(f.decodeErrors()).toEqual([]));

    it('login_server names every TLS address, in fields old clients ignore, over HTTP and over HTTPS', async () => {
      const teamtalk = await getJson(`${d.loginUrl}/msg_server`);
      expect(teamtalk).toMatchObject({ code: 0, priorIP: '127.0.0.1', port: String(d.msgServers[0].port), tlsPort: String(ports.teamtalk) });
      expect(await getJson(`${d.loginUrl}/msg_server?protocol=ws`)).toMatchObject({ url: d.msgServers[0].wsUrl, tlsUrl: `wss://127.0.0.1:${ports.wss}/ws` });
      expect(await getJson(`${d.loginUrl}/msg_server?protocol=tcp12`)).toMatchObject({ port: String(d.msgServers[0].tcp12Port), tlsPort: String(ports.tcp12) });
      expect(await getJson(`${d.loginUrl}/msg_server?protocol=omtp`)).toMatchObject({ port: String(d.msgServers[0].omtpPort), tlsPort: String(ports.omtp) });
      expect(await getJson(`${d.loginUrl}/msg_server?protocol=msync`)).toMatchObject({
        url: d.msgServers[0].msyncUrl,
        tlsUrl: `wss://127.0.0.1:${ports.msyncWss}/ws`,
        tcp: { host: '127.0.0.1', port: d.msgServers[0].msyncTcpPort, tlsPort: ports.msyncTcp },
      });
      // The plain addresses are not marked: only a front without a plain port says tls: true.
      expect(teamtalk.tls).toBeUndefined();

      const overHttps = await httpsRequest(`https://127.0.0.1:${ports.loginHttps}/msg_server`, first);
      expect(overHttps.status).toBe(200);
      expect(JSON.parse(overHttps.body.toString())).toEqual(teamtalk);
    });

    it('a TeamTalk client over TLS, sent to the TLS port by login_server, chats with a plain TeamTalk client', async () => {
      const [alice, bob] = await f.newUsers(2);
      const secure = await TeamTalkClient.connectVia(d.loginUrl, { tls: { ca: caOf(first) } });
      f.clients.push(secure);
      expect(secure.peerFingerprint).toBe(fingerprintOf(first));
      expect((await secure.login({ userName: alice.name, password: PASSWORD })).resultCode).toBe(0);
      const plain = await f.login(bob);
      expect(plain.peerFingerprint).toBeUndefined();

      const atBob = plain.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === alice.id);
      await secure.sendText(bob.id, 'sent over TLS');
      expect(decryptContent((await atBob).msgData)).toBe('sent over TLS');

      const atAlice = secure.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === bob.id);
      await plain.sendText(alice.id, 'sent in the clear');
      expect(decryptContent((await atAlice).msgData)).toBe('sent in the clear');
    });

    it('a wss:// client (token and address from login_server) chats with a plain TeamTalk client', async () => {
      const [web, tt] = await f.newUsers(2);
      const cTT = await f.login(tt);
      const secureWeb = await WsImClient.login(d.loginUrl, web.name, PASSWORD, { tls: { ca: caOf(first) } });
      others.push(secureWeb);

      const pushed = secureWeb.waitForPush(CommandType.CMD_PUSH_MSG);
      await cTT.sendText(web.id, 'to the browser');
      expect(Buffer.from((await pushed).content ?? []).toString('utf8')).toBe('to the browser');

      const atTT = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === web.id);
      ok(await secureWeb.sendText({ receiverId: tt.name }, 'from wss'));
      expect(decryptContent((await atTT).msgData)).toBe('from wss');
      expect(secureWeb.decodeErrors).toEqual([]);
    });

    it('tcp12, OMTP and MSync (WebSocket and TCP) clients log in over TLS', async () => {
      const user = await f.newUser();
      const trust = { ca: caOf(first) };

      const tcp12 = await Tcp12Client.connectVia(d.loginUrl, { tls: trust });
      others.push(tcp12);
      await tcp12.login({ account: user.name, password: PASSWORD, platform: 'web' });
      await tcp12.ping();

      const omtp = await OmtpClient.connectVia(d.loginUrl, { tls: trust });
      others.push(omtp);
      expect((await omtp.login(user.name, PASSWORD)).code).toBe(0);

      const where = await getJson(`${d.loginUrl}/msg_server?protocol=msync`);
      const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
      const msyncWs = await MsyncClient.connectWs(where.tlsUrl, trust);
      others.push(msyncWs);
      expect((await msyncWs.provision({ name: user.name, resource: 'wss', token })).status?.errorCode ?? 0).toBe(IM.MSync.Status.ErrorCode.OK);
      const msyncTcp = await MsyncClient.connectTcp(where.tcp.host, where.tcp.tlsPort, trust);
      others.push(msyncTcp);
      expect((await msyncTcp.provision({ name: user.name, resource: 'tls-tcp', token })).status?.errorCode ?? 0).toBe(IM.MSync.Status.ErrorCode.OK);
    });

    it('file_server: a transfer connection over TLS reaches the transfer logic; the image store works over HTTPS', async () => {
      const user = await f.newUser();
      const files = await FileServerConnection.connect({ ip: '127.0.0.1', port: ports.file }, { tls: { ca: caOf(first) } });
      others.push(files);
      const answer = await files.login(user.id, 'no-such-task', ClientFileRole.CLIENT_REALTIME_SENDER);
      expect(answer).toMatchObject({ taskId: 'no-such-task' });
      expect(answer.resultCode).not.toBe(0);

      const base = `https://127.0.0.1:${ports.fileHttps}`;
      const form = new FormData();
      form.append('file', new Blob([PNG], { type: 'application/octet-stream' }), 'avatar.png');
      const multipart = new Request(`${base}/`, { method: 'POST', body: form });
      const upload = await httpsRequest(`${base}/`, first, { method: 'POST', headers: { 'content-type': multipart.headers.get('content-type')! }, body: Buffer.from(await multipart.arrayBuffer()) });
      expect(upload.status).toBe(200);
      const stored = JSON.parse(upload.body.toString()) as { error_code: number; path: string };
      expect(stored.error_code).toBe(0);
      const download = await httpsRequest(`${base}/${stored.path}`, first);
      expect(download.status).toBe(200);
      expect(download.body.equals(PNG)).toBe(true);
    });

    it('a client speaking plain TCP to a TLS port is dropped, and the port keeps serving', async () => {
      const plainOnTls = net.connect(ports.teamtalk, '127.0.0.1');
      plainOnTls.on('error', () => undefined);
      plainOnTls.write(Buffer.alloc(64, 7));
      await new Promise((resolve) => plainOnTls.once('close', resolve));
      expect(await presented(ports.teamtalk, first)).toBe(fingerprintOf(first));
    });

    it('a certificate replaced on disk reaches new connections on every TLS port without a restart; open connections keep theirs', async () => {
      const [alice, bob, carol] = await f.newUsers(3);
      const secure = await TeamTalkClient.connect({ host: '127.0.0.1', port: ports.teamtalk, tls: { ca: caOf(first) } });
      f.clients.push(secure);
      expect((await secure.login({ userName: alice.name, password: PASSWORD })).resultCode).toBe(0);
      const plain = await f.login(bob);

      fs.copyFileSync(second.serverKeyFile, live.key);
      fs.copyFileSync(second.serverCertFile, live.cert);
      if (mode === 'standalone') {
        // No reload interval here: nothing changes until the operator sends SIGHUP.
        await new Promise((r) => setTimeout(r, 500));
        expect(await presented(ports.teamtalk, first)).toBe(fingerprintOf(first));
        d.role('standalone').child.kill('SIGHUP');
      }
      for (const [name, port] of Object.entries(ports)) {
        await waitUntil(async () => (await presented(port, second)) === fingerprintOf(second), 10_000, `${name} (${port}) to present the new certificate`);
      }

      // The connection opened before the change goes on with the old certificate.
      expect(secure.peerFingerprint).toBe(fingerprintOf(first));
      const atBob = plain.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === alice.id);
      await secure.sendText(bob.id, 'still connected');
      expect(decryptContent((await atBob).msgData)).toBe('still connected');

      // A new client trusting only the new authority logs in; one trusting only the old one is refused.
      const renewed = await TeamTalkClient.connectVia(d.loginUrl, { tls: { ca: caOf(second) } });
      f.clients.push(renewed);
      expect(renewed.peerFingerprint).toBe(fingerprintOf(second));
      expect((await renewed.login({ userName: carol.name, password: PASSWORD })).resultCode).toBe(0);
      expect(await presented(ports.teamtalk, first)).toMatch(/^error: /);
      // The process is the same one: no restart happened.
      for (const p of d.processes) expect(p.child.exitCode).toBeNull();
    });
  });

  it('a TLS port without a certificate stops the start with a clear message (exit code 2)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-tls-bad-'));
    try {
      const { env } = await standaloneListeners();
      const [tlsPort] = await freePorts(1);
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'services/standalone/dist/main.js')], {
        env: { ...process.env, ...env, TT_DATA_DIR: dataDir, LOG_LEVEL: 'fatal', MSG_SERVER_TLS_PORT: String(tlsPort), CLIENT_TLS_CERT_FILE: '', CLIENT_TLS_KEY_FILE: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toContain('MSG_SERVER_TLS_PORT is set: CLIENT_TLS_CERT_FILE and CLIENT_TLS_KEY_FILE must name the certificate and its key');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
