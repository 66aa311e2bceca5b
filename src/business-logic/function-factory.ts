import type { AppDefinition } from '../config/load-config';
import { errors } from '../domain/errors';
import type { FunctionFactory } from './app-functions';
import type { FlexClient } from './flex/flex-client';
import { FlexDataSource } from './flex/flex-data-source';
import { flexFunction } from './flex/flex-function';
import type { Sandbox } from './sandbox/sandbox';
import type { FlexServiceSpec } from './types';

/**
 * The factory the server uses: internal code runs in the sandbox, external functions and
 * collections call the app's Flex services, whose modules call back into kinbase at `baasUrl`.
 */
export function functionFactory(deps: { sandbox: Sandbox; flex: FlexClient; baasUrl: string }): FunctionFactory {
  const flexApp = (app: AppDefinition) => ({
    appKey: app.appKey,
    appSecret: app.appSecret,
    masterSecret: app.masterSecret,
    baasUrl: deps.baasUrl,
  });
  return {
    internal: (app, spec, commonCode) => deps.sandbox.functionFor(app.appKey, spec, commonCode),
    external: (app, spec) =>
      flexFunction(
        {
          service: serviceOf(app, spec.service),
          serviceName: spec.service,
          handlerName: spec.handlerName,
          origin: spec.origin,
        },
        flexApp(app),
        deps.flex,
      ),
    dataSource: (app, spec) =>
      new FlexDataSource(
        { service: serviceOf(app, spec.service), serviceName: spec.service, serviceObject: spec.serviceObject },
        deps.flex,
      ),
  };
}

/** The configuration loader checked every reference; a miss here is a bug, reported as such. */
function serviceOf(app: AppDefinition, name: string): FlexServiceSpec {
  const services = app.businessLogic?.flexServices;
  const service = services && Object.hasOwn(services, name) ? services[name] : undefined;
  if (!service) throw errors.blInternalError(`The Flex service ${name} is not configured for app ${app.appKey}.`);
  return service;
}
