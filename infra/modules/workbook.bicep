// An Application Insights workbook for the chat answers: time to first token (p50, p95), answers
// per minute by outcome, tokens per day, throttling (model and search) and refused requests. The
// queries read what the app's telemetry sends (docs/observability.md); their JSON is in
// chat-workbook.json.

@description('Application Insights component the workbook reads.')
param applicationInsightsName string

@description('Region of the workbook.')
param location string

@description('Tags for the workbook.')
param tags object = {}

@description('Name shown in the portal.')
param displayName string = 'Chat answers'

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's resource name must be a GUID; this one is stable per component.
  name: guid(applicationInsights.id, 'chat-answers-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('chat-workbook.json')
  }
}

output id string = workbook.id
