export { RpcError, RpcStatus, startRpcServer, createRpcClient, rpcTarget, unaryImplementation, type RunningRpcServer, type PromiseClient, type PromiseHandlers, type RpcServerOptions } from './rpc';
