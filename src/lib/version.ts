/* The version every tool and protocol reply reports (OFPMP_DESC, --version, ovs_version in show). */
export const VERSION = '0.1.0';
