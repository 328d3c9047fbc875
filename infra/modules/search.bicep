// Azure AI Search, created only when `enabled` is true. Key authentication is disabled: the app
// queries with its managed identity (Search Index Data Reader), ingestion runs as the deploying user.
// The Free tier costs nothing but has no semantic ranker; Basic and above get the ranker's free plan.
// No managed identity: the service calls nothing itself (no indexers, no integrated vectorization),
// and the Free tier refuses one, so leaving it out lets every tier below deploy.

@description('Create the search service.')
param enabled bool

@description('Name of the search service.')
param name string

@description('Region of the search service.')
param location string

@description('Tags for the search service.')
param tags object = {}

@description('Pricing tier. Free: one per subscription, no semantic ranker. Basic and above bill per hour even when idle.')
@allowed([
  'free'
  'basic'
  'standard'
])
param skuName string = 'basic'

resource search 'Microsoft.Search/searchServices@2025-05-01' = if (enabled) {
  // checkov:skip=CKV_AZURE_208: one replica keeps the idle cost at its minimum; the index can be rebuilt from the knowledge base at any time.
  // checkov:skip=CKV_AZURE_209: one replica keeps the idle cost at its minimum; a query SLA needs two or more.
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    disableLocalAuth: true
    hostingMode: 'default'
    partitionCount: 1
    replicaCount: 1
    publicNetworkAccess: 'enabled'
    semanticSearch: (skuName == 'free') ? 'disabled' : 'free'
  }
}

output name string = name
output endpoint string = enabled ? 'https://${name}.search.windows.net' : ''
