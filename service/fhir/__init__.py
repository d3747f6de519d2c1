"""FHIR R4 export of a plan revision: a Bundle of CarePlan, ServiceRequests, handout, Provenance."""
