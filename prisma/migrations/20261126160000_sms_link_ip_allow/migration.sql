-- Server mode: the addresses a telco may bind from (its SMSC's, usually over a VPN); empty: any.
ALTER TABLE "sms_links" ADD COLUMN "ip_allow_list" TEXT[] NOT NULL DEFAULT '{}';
