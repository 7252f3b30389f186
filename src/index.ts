// Public SDK entry (`import { register } from 'etcd-xds'`): register a service instance in etcd for etcd-xds.
export { register } from './registration/register.js';
export type { RegisterOptions, Registration, RegistrationEvents } from './registration/register.js';
export { detectAddress, selectAddress, cidrContains, parseCidr } from './registration/address.js';
export type { AddressFamily, AddressSelection, DetectAddressOptions, InterfaceTable, SelectedAddress } from './registration/address.js';
export type { RegistrationRecord } from './registration/record.js';
export type { RegistrationLogger } from './registration/leased-key.js';
export type { BackoffOptions } from './registration/backoff.js';
export type { HealthCheckSpec, InstanceStatus, Locality } from './registry/types.js';
