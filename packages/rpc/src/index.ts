export { RpcError, RpcStatus, startRpcServer, createRpcClient, unaryImplementation, type RunningRpcServer, type PromiseClient, type PromiseHandlers, type RpcServerOptions } from './rpc';
