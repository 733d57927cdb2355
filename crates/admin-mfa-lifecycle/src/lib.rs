//! Sans-IO MFA lifecycle for admin accounts: state, commands, events, link tokens and sealed secrets.
