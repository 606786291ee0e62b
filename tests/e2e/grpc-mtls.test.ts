// A cluster whose roles talk gRPC over mutual TLS (certificates made by the
// test): msg_server, login_server and push_server call db_proxy, msg_server
// calls file_server, each presenting its certificate; a caller without one is
// turned away.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IM, DbProxyService, type DbProxyClient } from '@tt/proto';
import { decryptContent, requestFileTransfer, TeamTalkClient } from '@tt/client';
import { createRpcClient, RpcStatus, type RpcTls } from '@tt/rpc';
import { createTestPki, type TestPki } from '@tt/testkit';
import { describeLocal, startDeployment, type Deployment } from './support/deployment';
import { Fixture } from './support/fixtures';

jest.setTimeout(60_000);

const { MessageCmdID, TransferFileType } = IM.BaseDefine;

describeLocal('gRPC between roles over mTLS (cluster mode)', () => {
  let dir: string;
  let pki: TestPki;
  let d: Deployment;
  let f: Fixture;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-mtls-'));
    pki = await createTestPki(dir);
    // Every role: this certificate as server and as client, and only peers signed by the CA.
    d = await startDeployment('cluster', {
      msgServers: 2,
      env: { GRPC_TLS_CERT_FILE: pki.serverCertFile, GRPC_TLS_KEY_FILE: pki.serverKeyFile, GRPC_TLS_CA_FILE: pki.caFile },
    });
    f = new Fixture(d, 'mtls_');
  }, 90_000);

  afterAll(async () => {
    f?.closeAll();
    await d?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two users log in through login_server and chat across msg_servers', async () => {
    const [alice, bob] = [await f.newUser(), await f.newUser()];
    const viaLogin = await TeamTalkClient.connectVia(d.loginUrl);
    f.clients.push(viaLogin);
    expect((await viaLogin.login({ userName: alice.name, password: 'secret' })).resultCode).toBe(0);

    const cb = await f.login(bob, 1);
    const arrival = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA);
    const ack = await viaLogin.sendText(bob.id, 'hello over mTLS');
    expect(ack.msgId).toBe(1);
    expect(decryptContent((await arrival).msgData)).toBe('hello over mTLS');
  });

  it('msg_server creates a file transfer task on file_server', async () => {
    const [alice, bob] = [await f.newUser(), await f.newUser()];
    const ca = await f.login(alice, 0);
    const rsp = await requestFileTransfer(ca, bob.id, 'notes.txt', 1234, TransferFileType.FILE_TYPE_OFFLINE);
    expect(rsp.resultCode).toBe(0);
    expect(rsp.taskId).toBeTruthy();
  });

  it('db_proxy turns away callers in cleartext or without a certificate its CA signed', async () => {
    const port = Number(d.role('db_proxy').env.DB_PROXY_PORT);
    const read = (file: string) => fs.readFileSync(file);
    const validate = async (tls: RpcTls | undefined) => {
      const db = createRpcClient<DbProxyClient>(DbProxyService, `127.0.0.1:${port}`, { timeoutMs: 3000, tls });
      try {
        await db.validateUser({ userName: 'nobody', password: 'x' } as IM.Server.IMValidateReq);
        return 'answered';
      } catch (err) {
        return (err as { code: number }).code;
      } finally {
        db.close();
      }
    };
    expect(await validate(undefined)).toBe(RpcStatus.UNAVAILABLE);
    expect(await validate({ ca: read(pki.caFile) })).toBe(RpcStatus.UNAVAILABLE);
    expect(await validate({ ca: read(pki.caFile), cert: read(pki.otherClientCertFile), key: read(pki.otherClientKeyFile) })).toBe(RpcStatus.UNAVAILABLE);
    // The same call with the deployment's certificate gets an answer (or a refusal from db_proxy itself).
    expect(await validate({ ca: read(pki.caFile), cert: read(pki.clientCertFile), key: read(pki.clientKeyFile) })).not.toBe(RpcStatus.UNAVAILABLE);
  });
});
