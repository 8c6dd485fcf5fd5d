/*
 * The OpenFlow wire codec (1.3, and 1.0 for the basics): framing, HELLO
 * negotiation, OXM/ofp_match, actions and instructions, messages and
 * multipart bodies. Decoders throw only OfpError; see messages.ts.
 */
export * from './errors';
export { OfWriter, OfReader, pad8 } from './buf';
export * from './ofp-header';
export {
  OXM_CLASS, ONF_EXPERIMENTER_ID, OFPVID_PRESENT, OFPVID_NONE, OFPMT_OXM, OFPMT_STANDARD, OxmEntry, OXM_ENTRIES, OxmHeader,
  oxmLookup, oxmForField, nxmForField, readOxmHeader, writeOxmHeader, encodeOxmFields, decodeOxmFields, encodeOfpMatch,
  decodeOfpMatch, ofpMatchSize, port16to32, port32to16,
} from './oxm';
export { OFPFW10, OFP10_MATCH_LEN, OFP10_VLAN_NONE, encodeOf10Match, decodeOf10Match } from './of10-match';
export {
  OFPAT13, OFPAT10, OFPIT, NX_VENDOR_ID, NXAST, ActionContext, decodeActions, encodeActions, decodeInstructions,
  encodeInstructions, encodeRuleActions, actionsToBuffer, actionsFromBuffer, instructionsToBuffer, instructionsFromBuffer,
} from './actions';
export * from './port';
export * from './group-meter';
export * from './multipart';
export * from './messages';
export * from './convert';
export { of10Match, of10Actions } from './of10-compat';
