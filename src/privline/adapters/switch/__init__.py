"""The switch adapter: Kamailio and rtpengine configs, their processes, rtpengine's ng
protocol, spoken prompts, the recording spool and the call agent."""
