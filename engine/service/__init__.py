"""What staff and applicants do, one transaction each: cases, chains, green channel, uploads, accounts
and who may see and do what."""
