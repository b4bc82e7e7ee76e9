/** SMPP 3.4 command_status values the listener answers with, besides those in smpp-status.ts. */
export { ESME_RINVCMDID, ESME_RSYSERR } from "../smpp-status.js";
export const ESME_RINVBNDSTS = 0x04;
export const ESME_RALYBND = 0x05;
export const ESME_RINVSRCADR = 0x0a;
export const ESME_RINVDSTADR = 0x0b;
/** An optional parameter the link does not take (ussd_service_op on a link without USSD). */
export const ESME_ROPTPARNOTALLWD = 0xc2;
